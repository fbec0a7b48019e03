# Architect's preferences for sandbox (npm start, the tests). No live reload: sandbox would inject an inline <script>
# into every HTML answer, which the console's Content-Security-Policy refuses (a deployed console has none).
@sandbox
livereload false

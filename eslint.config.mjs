// ESLint, flat config: neostandard's rules and formatting for JavaScript and TypeScript (no semicolons, single quotes,
// a space before a function's parentheses), a line length, and typescript-eslint's type-aware checks of promises.
// `npm run lint` checks; `npx eslint --fix` formats.
import { globalIgnores } from 'eslint/config'
import { defaultFilePatterns, neostandard, resolveIgnoresFromGitignore } from 'neostandard'

export default [
  // What .gitignore lists (node_modules, dist, .build, .venv, .tanuki, test-artifacts) and the test vectors' vendored files.
  globalIgnores([...resolveIgnoresFromGitignore(), 'test/vectors/']),
  // A disable comment names a rule of this config that fires there, or it goes.
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  ...neostandard({ ts: true }),
  {
    files: [...defaultFilePatterns.all],
    rules: {
      // A regular expression is written in one piece: cutting one would mean building it from strings.
      '@stylistic/max-len': ['error', { code: 160, ignoreRegExpLiterals: true }],
      // The code's own layout, where it differs from neostandard's: `else` and `catch` open their own line, and a long
      // object literal is wrapped where it fills the line, as a long argument list is.
      '@stylistic/brace-style': ['error', 'stroustrup', { allowSingleLine: true }],
      '@stylistic/object-property-newline': 'off',
      '@stylistic/object-curly-newline': ['error', { consistent: true }],
      // A chain of conditions is written `a ? x` / `: b ? y` / `: z`, one case a line, and a short ternary inside a
      // template's `${...}` may wrap with the text it writes: neostandard's one-operand-a-line would split both.
      '@stylistic/multiline-ternary': 'off',
      // `void` marks a promise left unawaited on purpose (typescript-eslint's convention, which no-floating-promises
      // checks), and a one-line branch that returns nothing (`return void res.end()`).
      'no-void': 'off',
      // IAM policy variables and CloudFormation's Fn::Sub are written `${...}` inside plain strings, on purpose.
      'no-template-curly-in-string': 'off',
    },
  },
  {
    // The console's pages are HTML in html`...` templates: a break in their text is a change to the page, so a line
    // that holds a template may run long there.
    files: ['src/console/**/*.ts'],
    ignores: ['src/console/browser/**'],
    rules: { '@stylistic/max-len': ['error', { code: 160, ignoreRegExpLiterals: true, ignoreTemplateLiterals: true }] },
  },
  {
    files: [...defaultFilePatterns.ts],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits is a write or a check that may not happen: every one is awaited, returned or caught.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // TypeScript imports are typed; a require() is an untyped escape, kept only where a comment says why.
      '@typescript-eslint/no-require-imports': 'error',
    },
  },
]

// The console's script, for browsers (built by esbuild.config.js into the console Lambdas): conveniences only, each page
// works without it. Filters the mappings table as you type, copies an AccessKeyId, and empties the token field when a
// page is shown again from the back-forward cache, so a pasted token does not linger on screen.

function filterTable (input: HTMLInputElement): void {
  const table = document.getElementById(input.dataset.filter ?? '')
  if (!table) return
  const apply = () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean)
    for (const row of Array.from(table.querySelectorAll<HTMLTableRowElement>('tbody tr'))) {
      const text = (row.textContent ?? '').toLowerCase()
      row.classList.toggle('hidden', !words.every(w => text.includes(w)))
    }
  }
  input.addEventListener('input', apply)
  apply()
}

function copyButton (button: HTMLButtonElement): void {
  button.classList.remove('hidden')
  button.addEventListener('click', () => {
    const text = button.dataset.copy ?? ''
    void navigator.clipboard.writeText(text).then(() => { button.textContent = 'Copied' })
  })
}

function clearSecrets (): void {
  for (const field of Array.from(document.querySelectorAll<HTMLTextAreaElement>('textarea[data-secret]'))) field.value = ''
}

document.addEventListener('DOMContentLoaded', () => {
  for (const input of Array.from(document.querySelectorAll<HTMLInputElement>('input[data-filter]'))) filterTable(input)
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-copy]'))) copyButton(button)
})
window.addEventListener('pageshow', clearSecrets)

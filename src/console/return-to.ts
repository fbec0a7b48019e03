// Where the console sends a user after signing in: back to the console page they asked for, and never anywhere else.
// An open redirect on the broker's own domain would lend its name to a phishing link.

/** The page after signing in when the request named none (or one the console does not go back to). */
export const HOME = '/console/mappings'
const MAX = 2048
const BASE = 'https://console.invalid'

/**
 * A return_to the console may redirect to: a path of its own (`/console` or below, with a query), spelled as a browser
 * would resolve it (no `..`, no `//`, no `\`, no control characters). Anything else, including the sign-in pages
 * themselves, gives HOME.
 */
export function safeReturnTo (value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX) return HOME
  // eslint-disable-next-line no-control-regex -- refuses control characters in a return path on purpose
  if (!/^\/console(?:[/?]|$)/.test(value) || /[\\\x00-\x20\x7f]/.test(value) || value.includes('//')) return HOME
  let url: URL
  try { url = new URL(value, BASE) }
  catch { return HOME }
  // A browser resolves dot segments (also %2e) and reads `/\` as `//`: only a path that is already what it resolves to is taken.
  if (url.origin !== BASE || `${url.pathname}${url.search}` !== value || url.hash) return HOME
  if (/^\/console\/(?:sign-in|oauth\/|sign-out|signed-out)/.test(url.pathname)) return HOME
  return value
}

// Collects every secret a security test uses or receives, and every text the broker wrote (logs, audit records, error
// bodies, published events), so one check can show that no secret appears in any of them.
import type { Test } from 'tape'

export class Witness {
  /** ID tokens sent, and the secret keys and session tokens issued. */
  readonly secrets = new Set<string>()
  /** Log lines of in-process handlers (sandbox Lambda output is in env.logs). */
  readonly lines: string[] = []
  readonly errorBodies: string[] = []
  readonly auditRecords: unknown[] = []
  readonly events: unknown[] = []

  /** Registers an ID token: the whole token, and its signature (which, with the guessable header and claims, is the token). */
  token (jwt: string): string {
    this.secrets.add(jwt)
    const signature = jwt.split('.')[2]
    if (signature && signature.length >= 16) this.secrets.add(signature)
    return jwt
  }

  /** Registers an answer: the credentials of a 200, or the body of an error. */
  answer (status: number, text: string): void {
    if (status !== 200) return void this.errorBodies.push(text)
    for (const m of text.matchAll(/^export AWS_(?:SECRET_ACCESS_KEY|SESSION_TOKEN)='([^']*)'$/gm)) this.secrets.add(m[1])
    try {
      const body = JSON.parse(text) as Record<string, unknown>
      for (const key of ['SecretAccessKey', 'SessionToken', 'Token']) if (typeof body[key] === 'string') this.secrets.add(body[key] as string)
    }
    catch { /* shell */ }
  }

  /** Asserts that no registered secret appears in any collected text, nor in the extra texts given (e.g. env.logs). */
  check (t: Test, sandboxLogs: readonly string[] = []): void {
    const sources: Array<[string, readonly string[]]> = [
      ['Lambda log lines', sandboxLogs],
      ['in-process log lines', this.lines],
      ['error bodies', this.errorBodies],
      ['audit records', this.auditRecords.map(r => JSON.stringify(r))],
      ['published events', this.events.map(e => JSON.stringify(e))],
    ]
    const secrets = [...this.secrets].filter(s => s.length >= 16)
    t.ok(secrets.length > 0, `${secrets.length} secrets were used or issued in this file`)
    for (const [name, texts] of sources) {
      const leaks = texts.filter(text => secrets.some(s => text.includes(s)))
      t.equal(leaks.length, 0, `none of them is in the ${texts.length} ${name}`)
      if (leaks.length > 0) t.comment(`leaked in: ${leaks[0].slice(0, 300)}`)
    }
  }
}

// SHA-256 and HMAC-SHA-256 over node:crypto, in the shape @smithy/signature-v4 takes (`sha256:`), for every signer here.
// What is signed, and with which credentials, is the caller's (publish.ts signs SNS requests, the local STS verifies).
import { createHash, createHmac } from 'node:crypto'
import type { Hash, Hmac } from 'node:crypto'

export type SourceData = string | ArrayBuffer | ArrayBufferView

function bytes (data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8')
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  return Buffer.from(data)
}

export class NodeSha256 {
  private readonly hash: Hash | Hmac
  constructor (secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret))
  }

  update (data: SourceData): void {
    this.hash.update(bytes(data))
  }

  async digest (): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest())
  }
}

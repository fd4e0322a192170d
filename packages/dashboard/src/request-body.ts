import type { IncomingMessage } from 'node:http'

/** A change request is a short JSON object; anything bigger is refused. */
const MAX_BODY_BYTES = 1024 * 1024

/**
 * The request's JSON body. A body a framework parsed already (Express's
 * `express.json()` sets `request.body`) is taken as it is.
 */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const parsed = (request as { body?: unknown }).body
  if (parsed !== undefined && typeof parsed === 'object' && parsed !== null && !Buffer.isBuffer(parsed)) return parsed
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY_BYTES) throw new BadRequest('the request body is larger than 1 MiB')
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    return JSON.parse(text === '' ? '{}' : text)
  } catch {
    throw new BadRequest('the request body is not JSON')
  }
}

/** A request the page should not have sent: answered 400 with this message. */
export class BadRequest extends Error {
  override name = 'BadRequest'
}

import { v7 as uuidv7 } from 'uuid'

/**
 * A new message id: a UUIDv7, so ids sort by creation time (handy in logs and
 * in the inbox index) and never collide across processes.
 */
export function newMessageId(): string {
  return uuidv7()
}

// Where an ioredis client connects, for messages that must say which Redis
// failed: ioredis' own errors (MaxRetriesPerRequestError, "Connection is
// closed.") name none. Read structurally, so that no ioredis type is needed.

interface AddressOptions {
  host?: unknown
  port?: unknown
  path?: unknown
  name?: unknown
  sentinels?: unknown
}

/** `host:port`, the socket path, the sentinels or the cluster's startup nodes of an ioredis client. */
export function redisAddress(client: unknown): string {
  const c = client as { options?: AddressOptions; startupNodes?: unknown }
  if (Array.isArray(c?.startupNodes)) return `cluster ${c.startupNodes.map(nodeAddress).join(', ')}`
  const o = c?.options
  if (!o) return 'an unknown address'
  if (typeof o.path === 'string' && o.path !== '') return o.path
  if (Array.isArray(o.sentinels) && o.sentinels.length > 0) {
    return `master "${String(o.name)}" of sentinels ${o.sentinels.map(nodeAddress).join(', ')}`
  }
  return nodeAddress(o)
}

function nodeAddress(node: unknown): string {
  if (typeof node === 'string' || typeof node === 'number') return String(node)
  const n = node as AddressOptions
  return `${typeof n?.host === 'string' ? n.host : 'localhost'}:${typeof n?.port === 'number' || typeof n?.port === 'string' ? n.port : 6379}`
}

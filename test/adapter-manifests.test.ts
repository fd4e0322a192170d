import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { broker as bullmq } from '@txbox/bullmq'
import { broker as nats } from '@txbox/nats'
import { broker as rabbitmq } from '@txbox/rabbitmq'
import { broker as redis } from '@txbox/redis'
import { describe, expect, test } from 'vitest'

// The CLI imports an installed adapter only for the schemes its package.json
// lists (each import loads a broker client): the list must be the descriptor's.
describe("each adapter's package.json lists the schemes its broker descriptor serves", () => {
  test.each([
    ['bullmq', bullmq],
    ['nats', nats],
    ['rabbitmq', rabbitmq],
    ['redis', redis],
  ])('@txbox/%s', (name, descriptor) => {
    const manifest = JSON.parse(readFileSync(fileURLToPath(new URL(`../packages/${name}/package.json`, import.meta.url)), 'utf8'))
    expect(manifest.txbox).toEqual({ broker: true, schemes: [...descriptor.schemes] })
  })
})

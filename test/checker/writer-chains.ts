import { WRITERS } from './generate-scenario.js'

/**
 * The scenario's writers: each runs its transactions one after another on a
 * chain of its own, while the driver goes on with the next actions (a writer
 * may wait on another's key lock, or hold its transaction open).
 */
export class WriterChains {
  private readonly chains: Promise<void>[] = Array.from({ length: WRITERS }, () => Promise.resolve())

  add(writer: number, transaction: () => Promise<void>): void {
    const index = writer % this.chains.length
    // runWriterTransaction records its own failures; a chain never rejects.
    this.chains[index] = (this.chains[index] as Promise<void>).then(transaction).catch(() => {})
  }

  /** Resolves once every writer has finished what it was given. */
  async idle(): Promise<void> {
    await Promise.all(this.chains)
  }
}

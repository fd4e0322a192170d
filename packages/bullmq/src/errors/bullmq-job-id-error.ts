import { BullmqPublishError } from './bullmq-publish-error.js'

/**
 * A message id BullMQ cannot take as a job id (code `BULLMQ_INVALID_JOB_ID`,
 * reason `unpublishable`). The job id is what makes a repeated publish add no
 * second job, so txbox never maps it to something else: the message is
 * refused as permanent (it goes to the dead letters at once, its neighbours
 * are published). Reported in the message's PublishResult, never thrown. The
 * ids txbox generates (UUIDv7) are always accepted; this concerns a
 * `messageId` you chose.
 */
export class BullmqJobIdError extends BullmqPublishError {
  constructor(messageId: string, problem: string) {
    super(
      'unpublishable',
      messageId,
      undefined,
      `its id cannot be a BullMQ job id: ${problem}. ` +
        'txbox uses the message id as the job id (a repeated publish then adds no second job), so this message goes to the dead letters. ' +
        "Enqueue such messages with a messageId that is not an integer and has no ':' (e.g. 'order-42' rather than '42' or 'order:42'), " +
        'or leave messageId out and let txbox generate one',
      { code: 'BULLMQ_INVALID_JOB_ID' },
    )
  }
}

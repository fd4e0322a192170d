import { Injectable } from '@nestjs/common'

/** Sends one email. The example only keeps and prints it: plug your mail provider in here. */
@Injectable()
export class Mailer {
  /** Every email sent, in order (the test reads it). */
  readonly sent: { to: string; subject: string }[] = []

  async send(to: string, subject: string): Promise<void> {
    this.sent.push({ to, subject })
    if (process.env.NODE_ENV !== 'test') console.log(`mail to ${to}: ${subject}`)
  }
}

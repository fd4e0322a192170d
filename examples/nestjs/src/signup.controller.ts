import { BadRequestException, Body, Controller, Inject, Post } from '@nestjs/common'
import { SignUpService } from './signup.service.js'

/** POST /signup {"email": "…", "inviteCode"?: "…"}: 201 with the user, 409 if the email is taken, 422 for a bad invite code. */
@Controller()
export class SignUpController {
  constructor(@Inject(SignUpService) private readonly signUps: SignUpService) {}

  @Post('signup')
  signUp(@Body() body: unknown): Promise<{ id: number; email: string }> {
    const { email, inviteCode } = (body ?? {}) as { email?: unknown; inviteCode?: unknown }
    // Checked before any transaction opens (use class-validator and a ValidationPipe in a larger app).
    if (typeof email !== 'string' || !email.includes('@')) throw new BadRequestException('email must be an email address')
    if (inviteCode !== undefined && typeof inviteCode !== 'string') throw new BadRequestException('inviteCode must be a string')
    return this.signUps.signUp(email, inviteCode)
  }
}

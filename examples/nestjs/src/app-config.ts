/** Where the service's data and broker are. main.ts reads it from the environment; the test gives its own. */
export interface AppConfig {
  readonly databaseUrl: string
  readonly redisUrl: string
  /** PostgreSQL schema of the app's tables (users, invites, welcome_emails). Default `public`. */
  readonly schema?: string
  /** PostgreSQL schema of txbox's tables. Default `txbox`. */
  readonly txboxSchema?: string
  /** Put in front of every Redis stream name (the stream is the message's topic). Default none. */
  readonly streamPrefix?: string
  /**
   * Stands for the rest of the sign-up request, between the enqueue and the
   * commit (more writes, a call to another service), in ms. Default 0. The
   * test widens it: a message pushed to Redis before the commit would reach
   * the worker while the user does not exist yet; the outbox's does not.
   */
  readonly restOfRequestMs?: number
}

export const APP_CONFIG = Symbol('AppConfig')

/** The topic of welcome-email messages, and (with the prefix) the Redis stream they go to. */
export const WELCOME_TOPIC = 'email.welcome'

/** The payload of a welcome-email message. */
export interface WelcomeEmail {
  userId: number
  email: string
}

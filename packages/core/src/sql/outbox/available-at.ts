/**
 * The `available_at` of a new message (a fragment of the insert statements):
 * the given time if it is in the future, else the delay from the statement's
 * time, else NULL (ready now).
 */
export function availableAtExpression(at: string, delayMs: string): string {
  return `CASE WHEN ${at} > statement_timestamp() THEN ${at} WHEN ${delayMs} > 0 THEN statement_timestamp() + ${delayMs} * interval '1 millisecond' END`
}

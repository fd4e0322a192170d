/** How many characters of a stored error a table cell shows (the JSON output shows all of it). */
export const ERROR_CELL_WIDTH = 160

/**
 * A stored `last_error` as one table cell: on one line, with the id of the
 * message it is about replaced by "the message" (the row says which message,
 * or the JSON output does; the id would take a third of the cell), and cut at
 * {@link ERROR_CELL_WIDTH} characters. The cause follows the error's class
 * and the message id in every publisher's text, so cutting the id away keeps
 * the cause in view.
 */
export function errorCell(error: string | null, messageId: string | null): string {
  if (error === null || error === '') return '-'
  let line = error.replace(/\s+/g, ' ').trim()
  if (messageId !== null && messageId !== '') {
    line = line.split(`message ${messageId}`).join('the message').split(messageId).join('the message')
  }
  return line.length <= ERROR_CELL_WIDTH ? line : `${line.slice(0, ERROR_CELL_WIDTH - 1).trimEnd()}…`
}

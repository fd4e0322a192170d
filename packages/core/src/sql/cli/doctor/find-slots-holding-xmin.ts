import { type Statement, statement } from '../../statement.js'

/**
 * find-slots-holding-xmin: replication slots with an xmin (a physical slot
 * with hot_standby_feedback holds back every table's horizon; catalog_xmin
 * only the catalogs'). `txbox doctor`.
 *
 * Parameters: none.
 * Returns: `{ slot_name, slot_type, active, xmin_age }` per slot, the oldest xmin first.
 */
export function findSlotsHoldingXmin(): Statement<SlotHoldingXmin> {
  return statement(
    null,
    'doctor|find-slots-holding-xmin',
    {},
    () => 'SELECT slot_name, slot_type, active, age(xmin) AS xmin_age FROM pg_replication_slots WHERE xmin IS NOT NULL ORDER BY age(xmin) DESC',
  )
}

export interface SlotHoldingXmin {
  slot_name: string
  slot_type: string
  active: boolean
  xmin_age: number
}

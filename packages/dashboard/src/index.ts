// The public names of @txbox/dashboard. Nothing is defined here.

export { dashboardHandler, type DashboardHandler } from './dashboard-handler.js'
export type { DashboardOptions } from './dashboard-options.js'
export { serveDashboard, type DashboardServer, type ServeDashboardOptions } from './serve-dashboard.js'

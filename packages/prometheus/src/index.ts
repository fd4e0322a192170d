// The public names of @txbox/prometheus. Nothing is defined here.

export { relayMetrics, type RelayMetricsCollector, type RelayMetricsOptions } from './relay-metrics.js'
export { relayHealth, type HealthCheck, type HealthReport, type RelayHealth, type RelayHealthOptions } from './relay-health.js'
export { monitoringHandler, type MonitoringHandlerOptions, type MonitoringRequestHandler } from './monitoring-handler.js'
export { serveRelayMonitoring, type RelayMonitoringServer, type ServeRelayMonitoringOptions } from './serve-relay-monitoring.js'

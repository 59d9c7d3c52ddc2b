// Monitoring: the HTTP(S) endpoints of nats-server 2.9.10, Prometheus metrics
// and the live dashboard. The server starts a Monitor in start() when
// http_port or https_port is set.

export { Monitor, MonitorStartError, PATHS, normalizeBasePath } from './monitor.js';
export type { RouteInfoProvider, MonitoredRoute, MonitoredSub } from './routes.js';
export { connz, SORT_OPTIONS, DEFAULT_CONN_LIST_SIZE, type ConnzOptions } from './connz.js';
export { Metrics, VARZ_NUMERIC_FIELDS } from './metrics.js';
export { DashboardSampler } from './dashboard.js';
export { goJSON, goTime, goDurationNs, myUptime } from './gofmt.js';

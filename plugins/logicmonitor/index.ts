// Built-in connector plugin `logicmonitor`: polls LogicMonitor's alert list incrementally and
// emits raised and cleared alerts as events (README.md in this folder has options and setup).
import { defineConnector } from '../../src/plugin/contract.js';
import { logicMonitorSchema, type LogicMonitorConfig } from './config.js';
import { LogicMonitorConnector } from './connector.js';

export default defineConnector<LogicMonitorConfig>({
  type: 'logicmonitor',
  description: 'Polls LogicMonitor alerts (REST v3, LMv1 or Bearer auth) and emits raised and cleared alerts as events',
  schema: logicMonitorSchema,
  create: (config, ctx) => new LogicMonitorConnector(config, ctx),
});

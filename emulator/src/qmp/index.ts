// Public API of the QMP client: QmpClient, its message types, errors and the line splitter.

export {
  QmpClient,
  CONNECT_RETRY_INTERVAL_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_EXECUTE_TIMEOUT_MS,
  type QmpClientState,
  type QmpClientOptions,
  type QmpConnectOptions,
  type QmpExecuteOptions,
  type QmpWaitForEventOptions,
  type QmpDisconnectInfo,
  type QmpLogger,
  type QmpStatus,
} from './qmp-client.js';
export type { QmpDisposable, QmpEventHook } from './listener-set.js';
export {
  parseQmpMessage,
  serializeQmpCommand,
  type QmpMessage,
  type QmpGreeting,
  type QmpReturn,
  type QmpErrorReply,
  type QmpEvent,
  type QmpVersion,
  type QmpCommand,
} from './qmp-messages.js';
export {
  QmpError,
  QmpErrorCode,
  ConnectError,
  StateError,
  NegotiationError,
  ExecuteError,
  ExecInterruptedError,
  QmpProtocolError,
  QmpTimeoutError,
} from './qmp-errors.js';
export { LineSplitter, LineTooLongError, DEFAULT_MAX_LINE_LENGTH, type LineSplitterOptions } from './line-splitter.js';

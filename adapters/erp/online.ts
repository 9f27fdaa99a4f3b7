import { ONLINE_REQUEST_TIMEOUT_MS } from '../online';
import type { ErpSettings } from './descriptor';

/** The generic `erp:` settings an adapter is built with for a check: no order is read, no window applies. */
export const onlineErpSettings: ErpSettings = { timeoutMs: ONLINE_REQUEST_TIMEOUT_MS, returnWindowDays: 0 };

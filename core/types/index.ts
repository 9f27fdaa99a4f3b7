export * from './adapters';
export * from './conversation';
export * from './errors';
export * from './events';
export * from './outbound';
export * from './ports';

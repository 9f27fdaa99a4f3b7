export { MemoryKeyValueStore } from './memory';
export { RedisKeyValueStore } from './redis';

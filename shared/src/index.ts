export * from './codes.js';
export * from './codec.js';
export * from './limits.js';
export * from './protocol.js';

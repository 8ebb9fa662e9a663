/** Old name of shard-protocol.ts (the synthesis shard workers' messages); kept for src/engine/job until it imports the new name. */
export * from './shard-protocol.js';

/**
 * A small publish/subscribe bus between server processes, for events whose truth lives elsewhere
 * (PostgreSQL): "this account's credits changed", "this generation finished". Two twins: in-process
 * for one node, Redis pub/sub for several. Payloads are short strings; receivers re-read the state
 * they care about, so a lost or duplicated message can never show a wrong value, only a late one
 * (and every waiter also has a deadline of its own).
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export const busTopics = ['credits', 'generations', 'pantry'] as const;
export type BusTopic = (typeof busTopics)[number];
export type BusListener = (payload: string) => void;

export interface MessageBus {
  publish(topic: BusTopic, payload: string): Promise<void>;
  /** Returns the way to unsubscribe. */
  subscribe(topic: BusTopic, listener: BusListener): () => void;
  close(): Promise<void>;
}

export class MemoryBus implements MessageBus {
  readonly #listeners = new Map<BusTopic, Set<BusListener>>(busTopics.map((topic) => [topic, new Set<BusListener>()]));

  async publish(topic: BusTopic, payload: string): Promise<void> {
    for (const listener of this.#listeners.get(topic)!) listener(payload);
  }

  subscribe(topic: BusTopic, listener: BusListener): () => void {
    const listeners = this.#listeners.get(topic)!;
    listeners.add(listener);
    return () => listeners.delete(listener);
  }

  async close(): Promise<void> {
    for (const listeners of this.#listeners.values()) listeners.clear();
  }
}

export class RedisBus implements MessageBus {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #prefix: string;
  readonly #local = new MemoryBus();

  /** Subscribes to every topic at once, so a message published right after start is not missed. */
  static async connect(url: string, channelPrefix: string, log: Logger): Promise<RedisBus> {
    const bus = new RedisBus(url, channelPrefix, log);
    await bus.#subscriber.subscribe(...busTopics.map((topic) => `${channelPrefix}${topic}`));
    return bus;
  }

  private constructor(url: string, channelPrefix: string, log: Logger) {
    this.#prefix = channelPrefix;
    this.#publisher = new Redis(url, { maxRetriesPerRequest: 2 });
    this.#subscriber = new Redis(url, { maxRetriesPerRequest: null });
    this.#publisher.on('error', () => undefined);
    this.#subscriber.on('error', (error) => log.debug({ err: error }, 'bus subscriber error'));
    this.#subscriber.on('message', (channel: string, payload: string) => {
      const topic = channel.slice(this.#prefix.length) as BusTopic;
      if (channel.startsWith(this.#prefix) && (busTopics as readonly string[]).includes(topic)) void this.#local.publish(topic, payload);
    });
  }

  async publish(topic: BusTopic, payload: string): Promise<void> {
    await this.#publisher.publish(`${this.#prefix}${topic}`, payload);
  }

  subscribe(topic: BusTopic, listener: BusListener): () => void {
    return this.#local.subscribe(topic, listener);
  }

  async close(): Promise<void> {
    await this.#local.close();
    await Promise.allSettled([this.#subscriber.quit(), this.#publisher.quit()]);
  }
}

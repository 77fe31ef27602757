/**
 * Tells live sessions that an account's credits changed outside a decision (a grant, a refund, a
 * tier change, a cycle end, a burst bought on another device), so that players get a `balance`
 * message. Two twins: in-process for one node, Redis pub/sub for several. Messages carry only an
 * account id; each session re-reads its balance from the ledger, so a lost or duplicated message
 * can never show a wrong number, only a late one.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export type CreditListener = (accountId: string) => void;

export interface CreditNotifier {
  publish(accountId: string): Promise<void>;
  subscribe(listener: CreditListener): () => void;
  close(): Promise<void>;
}

export class MemoryCreditNotifier implements CreditNotifier {
  readonly #listeners = new Set<CreditListener>();

  async publish(accountId: string): Promise<void> {
    for (const listener of this.#listeners) listener(accountId);
  }

  subscribe(listener: CreditListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.#listeners.clear();
  }
}

export class RedisCreditNotifier implements CreditNotifier {
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #channel: string;
  readonly #local = new MemoryCreditNotifier();

  constructor(url: string, channelPrefix: string, log: Logger) {
    this.#channel = `${channelPrefix}credits`;
    this.#publisher = new Redis(url, { maxRetriesPerRequest: 2 });
    this.#subscriber = new Redis(url, { maxRetriesPerRequest: null });
    this.#publisher.on('error', () => undefined);
    this.#subscriber.on('error', (error) => log.debug({ err: error }, 'credit notifier subscriber error'));
    this.#subscriber.subscribe(this.#channel).catch((error: unknown) => log.warn({ err: error }, 'credit notifier could not subscribe'));
    this.#subscriber.on('message', (channel: string, accountId: string) => {
      if (channel === this.#channel) void this.#local.publish(accountId);
    });
  }

  async publish(accountId: string): Promise<void> {
    await this.#publisher.publish(this.#channel, accountId);
  }

  subscribe(listener: CreditListener): () => void {
    return this.#local.subscribe(listener);
  }

  async close(): Promise<void> {
    await this.#local.close();
    await Promise.allSettled([this.#subscriber.quit(), this.#publisher.quit()]);
  }
}

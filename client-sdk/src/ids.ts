/**
 * Request ids: idempotency keys for `next`, `burst`, `stock` and beacons. The server scopes them to
 * a session (`next`) or a user (beacons), so they must not repeat within a client and should not
 * collide across clients: a random base36 prefix drawn once per client, then a counter.
 */
import { protocolLimits } from '@titrate/shared';

const prefixLength = 10;

export class IdSource {
  readonly #prefix: string;
  #counter = 0;

  constructor(random: () => number) {
    let prefix = '';
    for (let index = 0; index < prefixLength; index += 1) prefix += Math.floor(random() * 36).toString(36).slice(0, 1);
    this.#prefix = prefix;
  }

  /** A new id: `{prefix}{kind}{counter}`, e.g. `k3x9a0b1zqn12`. */
  next(kind: 'n' | 'b' | 'u' | 's'): string {
    this.#counter += 1;
    const id = `${this.#prefix}${kind}${this.#counter.toString(36)}`;
    if (id.length > protocolLimits.requestIdLengthMax) throw new Error('request id too long');
    return id;
  }
}

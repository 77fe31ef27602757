/**
 * A list threaded through its members: each member holds its own two links, so membership costs
 * two fields of the member and nothing else, where a `Set` of many thousands of members spends a
 * hash table's entry and bucket on each (32–64 bytes, by how full the table is since it last
 * doubled). Adding and deleting are O(1); iterating tolerates deleting the member it is at.
 *
 * A member belongs to at most one list at a time.
 */
export type Linked<T> = { previous: T | null; next: T | null };

export class LinkedList<T extends Linked<T>> {
  #first: T | null = null;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(member: T): void {
    if (this.has(member)) return;
    member.previous = null;
    member.next = this.#first;
    if (this.#first !== null) this.#first.previous = member;
    this.#first = member;
    this.#size += 1;
  }

  has(member: T): boolean {
    return member.previous !== null || this.#first === member;
  }

  delete(member: T): boolean {
    if (!this.has(member)) return false;
    if (member.previous === null) this.#first = member.next;
    else member.previous.next = member.next;
    if (member.next !== null) member.next.previous = member.previous;
    member.previous = null;
    member.next = null;
    this.#size -= 1;
    return true;
  }

  /**
   * Newest first. The next member is read before this one is handed out, so the loop's body may
   * delete the member it is at; deleting another may end the loop early (copy the list first).
   */
  *[Symbol.iterator](): IterableIterator<T> {
    let member = this.#first;
    while (member !== null) {
      const next = member.next;
      yield member;
      member = next;
    }
  }
}

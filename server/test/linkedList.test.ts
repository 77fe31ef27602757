import fc from 'fast-check';
import t from 'tap';
import { LinkedList } from '../src/gateway/linkedList.js';

type Member = { name: number; previous: Member | null; next: Member | null };
const member = (name: number): Member => ({ name, previous: null, next: null });
const names = (list: LinkedList<Member>) => [...list].map((each) => each.name);

t.test('members come out newest first, and a deleted one is gone', async (t) => {
  const list = new LinkedList<Member>();
  const [a, b, c] = [member(1), member(2), member(3)];
  for (const each of [a, b, c]) list.add(each);
  t.same(names(list), [3, 2, 1]);
  t.equal(list.delete(b), true);
  t.same(names(list), [3, 1]);
  t.equal(list.delete(b), false, 'deleting twice is a no-op');
  t.equal(list.size, 2);
  list.delete(c);
  list.delete(a);
  t.same(names(list), []);
  t.equal(list.size, 0);
});

t.test('adding a member twice keeps one place for it', async (t) => {
  const list = new LinkedList<Member>();
  const only = member(1);
  list.add(only);
  list.add(only);
  t.equal(list.size, 1);
  t.same(names(list), [1]);
});

t.test('a loop may delete the member it is at', async (t) => {
  const list = new LinkedList<Member>();
  const members = [1, 2, 3, 4].map(member);
  for (const each of members) list.add(each);
  const seen: number[] = [];
  for (const each of list) {
    seen.push(each.name);
    list.delete(each);
  }
  t.same(seen, [4, 3, 2, 1]);
  t.equal(list.size, 0);
});

t.test('any sequence of adds and deletes leaves the list holding what a Set would', async () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }), (steps) => {
      const pool = Array.from({ length: 10 }, (_, index) => member(index));
      const list = new LinkedList<Member>();
      const model = new Set<number>();
      for (const [adding, index] of steps) {
        if (adding) {
          list.add(pool[index]!);
          model.add(index);
        } else if (list.delete(pool[index]!) !== model.delete(index)) return false;
      }
      return list.size === model.size && names(list).sort().join() === [...model].sort().join();
    }),
  );
});

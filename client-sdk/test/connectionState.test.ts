import t from 'tap';
import { ConnectionStateMachine, connectionStates, connectionTransitions, isTerminal } from '../src/connectionState.js';

t.test('a client goes idle → connecting → live → reconnecting → offline → live → closed', async (t) => {
  const machine = new ConnectionStateMachine();
  for (const state of ['connecting', 'live', 'reconnecting', 'offline', 'live', 'closed'] as const) machine.set(state);
  t.equal(machine.state, 'closed');
});

t.test('illegal transitions throw', async (t) => {
  const machine = new ConnectionStateMachine();
  t.throws(() => machine.set('live'), /illegal client transition idle → live/, 'no welcome without connecting');
  machine.set('connecting');
  t.throws(() => machine.set('offline'), 'no cached frames before any connection');
  machine.set('live');
  t.throws(() => machine.set('offline'), 'live never jumps to offline without reconnecting');
  t.throws(() => machine.set('live'), 'no transition to the same state');
});

t.test('unauthorized and closed are terminal: nothing leaves them', async (t) => {
  for (const terminal of ['unauthorized', 'closed'] as const) {
    t.ok(isTerminal(terminal));
    for (const state of connectionStates) {
      const machine = new ConnectionStateMachine();
      machine.set('connecting');
      machine.set(terminal);
      t.throws(() => machine.set(state), `${terminal} → ${state}`);
    }
  }
});

t.test('every state can reach closed, so close() always works', async (t) => {
  for (const state of connectionStates) {
    if (isTerminal(state)) continue;
    t.ok(connectionTransitions[state].includes('closed'), state);
  }
});

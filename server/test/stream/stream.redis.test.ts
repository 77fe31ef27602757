import t from 'tap';
import { streamSuite } from './streamSuite.js';

streamSuite(t, 'redis');

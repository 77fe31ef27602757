/** Transport-neutral HTTP request and response, so routes can be tested without a socket. */
export type HttpRequest = {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-case header name → value ('' when absent). */
  header: (name: string) => string;
  body: Buffer | null;
};

export type HttpResponse = {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
};

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(value),
});

/** The admin API's error shape: `{error: {code, message}}`. */
export const failure = (status: number, code: string, message: string): HttpResponse => json(status, { error: { code, message } });

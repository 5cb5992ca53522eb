import { ErrorCodes, Message, ResponseError, type Connection, type ConnectionOptions, type MessageStrategy } from 'vscode-languageserver/node';

/** Where requests that arrive after `shutdown` are sent, to be refused. */
const REFUSED = 'meshPolicy/$refusedAfterShutdown';

/**
 * LSP: after `shutdown`, requests fail with InvalidRequest and notifications other than `exit`
 * are dropped. A message strategy sees every message before any handler, whatever the transport.
 */
export function shutdownGate(): ConnectionOptions {
  let shutDown = false;
  const messageStrategy: MessageStrategy = {
    handleMessage(message: Message, next: (message: Message) => void | Promise<void>): void | Promise<void> {
      if (Message.isRequest(message)) {
        if (shutDown) return next({ ...message, method: REFUSED } as Message);
        if (message.method === 'shutdown') shutDown = true;
      } else if (shutDown && Message.isNotification(message) && message.method !== 'exit') return;
      return next(message);
    },
  };
  return { messageStrategy };
}

export function refuseAfterShutdown(connection: Connection): void {
  connection.onRequest(REFUSED, () => new ResponseError(ErrorCodes.InvalidRequest, 'the server is shut down'));
}

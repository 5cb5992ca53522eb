import { LSPErrorCodes, ResponseError, type CancellationToken, type ConnectionOptions, type Message, type RequestMessage, type ResponseMessage } from 'vscode-languageserver/node';

const CANCELLED = 'the request was cancelled';

/**
 * Answers a request through `run`, given an AbortSignal linked to the request's token (the engine
 * knows AbortSignals, not LSP): a request cancelled before it starts (queued behind a long one)
 * answers RequestCancelled without running, and so does one cancelled while it ran, whatever it
 * returned or threw once aborted. Work that gives the event loop turns (`engine/pace.ts`) stops at
 * its next boundary.
 */
export async function answer<T>(token: CancellationToken, run: (signal: AbortSignal) => T | Promise<T>): Promise<T | ResponseError<void>> {
  if (token.isCancellationRequested) return new ResponseError(LSPErrorCodes.RequestCancelled, CANCELLED);
  const controller = new AbortController();
  const link = token.onCancellationRequested(() => controller.abort());
  try {
    const result = await run(controller.signal);
    return token.isCancellationRequested ? new ResponseError(LSPErrorCodes.RequestCancelled, CANCELLED) : result;
  } catch (error) {
    if (controller.signal.aborted) return new ResponseError(LSPErrorCodes.RequestCancelled, CANCELLED);
    throw error;
  } finally {
    link.dispose();
  }
}

/**
 * A request still waiting in the connection's queue when its `$/cancelRequest` arrives is
 * answered RequestCancelled at once and never dispatched.
 */
export function cancelQueued(): ConnectionOptions {
  return {
    connectionStrategy: {
      // the connection asks only for requests
      cancelUndispatched: (message: Message): ResponseMessage => ({ jsonrpc: '2.0', id: (message as RequestMessage).id, error: { code: LSPErrorCodes.RequestCancelled, message: CANCELLED } }),
    },
  };
}

/** How an encoded ExportTraceServiceRequest reaches the backend (gRPC or HTTP). */
export interface Transport {
  /**
   * Sends the request; resolves to the ExportTraceServiceResponse bytes, or rejects with an
   * ExportError that says whether to retry.
   */
  send(payload: Buffer): Promise<Uint8Array>;
  close(): void;
}

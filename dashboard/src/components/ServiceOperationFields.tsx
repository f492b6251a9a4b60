/**
 * The service and operation inputs the filter forms share (search, flame, tail): services
 * suggested from the list the page loaded, operations from the chosen service's; changing the
 * service clears the operation. `listId` names the two datalists (`<listId>-services`,
 * `<listId>-operations`), unique per page.
 */
import type { OperationsAnswer } from '../api/types';
import { useApi } from './useApi';

export interface ServiceOperation {
  service: string;
  operation: string;
}

export function ServiceOperationFields({ listId, value, services, onChange }: { listId: string; value: ServiceOperation; services: readonly string[]; onChange(value: ServiceOperation): void }) {
  const service = value.service.trim();
  const operations = useApi<OperationsAnswer>(service === '' ? undefined : `/api/services/${encodeURIComponent(service)}/operations`);
  const operationNames = operations.status === 'done' ? [...new Set(operations.data.operations.map((o) => o.name))] : [];
  return (
    <>
      <label>
        Service
        <input name="service" list={`${listId}-services`} value={value.service} onChange={(e) => onChange({ service: e.target.value, operation: '' })} placeholder="any" autoComplete="off" />
        <datalist id={`${listId}-services`}>
          {services.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
      </label>
      <label>
        Operation
        <input name="operation" list={`${listId}-operations`} value={value.operation} onChange={(e) => onChange({ service: value.service, operation: e.target.value })} placeholder="any" autoComplete="off" />
        <datalist id={`${listId}-operations`}>
          {operationNames.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </label>
    </>
  );
}

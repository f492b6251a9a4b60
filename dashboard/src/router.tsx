/**
 * The pages: each a deep link (react-router, browser history), each its own chunk (React.lazy).
 * The collector answers these paths with index.html (collector/src/server/dashboard.ts,
 * DASHBOARD_PAGES): a page added here needs its path there too.
 */
import { lazy } from 'react';
import { createBrowserRouter } from 'react-router';
import { Layout } from './shell/Layout';
import { NotFound } from './shell/NotFound';
import { RouteError } from './shell/RouteError';

const SearchPage = lazy(() => import('./search/SearchPage'));
const ServicesPage = lazy(() => import('./services/ServicesPage'));
const ServicePage = lazy(() => import('./services/ServicePage'));
const FlamePage = lazy(() => import('./flame/FlamePage'));
const SqlPage = lazy(() => import('./sql/SqlPage'));
const TailPage = lazy(() => import('./tail/TailPage'));
const ComparePage = lazy(() => import('./compare/ComparePage'));
const TracePage = lazy(() => import('./trace/TracePage'));

export const router = createBrowserRouter([
  {
    element: <Layout />,
    errorElement: <RouteError />,
    children: [
      { index: true, element: <SearchPage /> },
      { path: 'search', element: <SearchPage /> },
      { path: 'services', element: <ServicesPage /> },
      { path: 'services/:service', element: <ServicePage /> },
      { path: 'traces/:traceId', element: <TracePage /> },
      { path: 'compare', element: <ComparePage /> },
      { path: 'flame', element: <FlamePage /> },
      { path: 'tail', element: <TailPage /> },
      { path: 'sql', element: <SqlPage /> },
      { path: '*', element: <NotFound /> },
    ],
  },
]);

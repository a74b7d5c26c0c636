// Routes with nested layouts. Every page is its own chunk; the account pages share one.
import { createBrowserRouter, type RouteObject } from 'react-router';
import { AppLayout, PublicLayout, RootLayout } from './layouts';
import { NotFound, PageCrashed } from '../components/ui';

const page = (load: () => Promise<{ default: React.ComponentType }>) => async () => ({ Component: (await load()).default });

export const routes: RouteObject[] = [
  {
    element: <RootLayout />,
    errorElement: <PageCrashed />,
    children: [
      {
        // Pages for people who are not signed in (signed-in visitors are sent on).
        element: <PublicLayout anonymousOnly />,
        children: [
          { path: 'sign-in', lazy: page(() => import('../pages/auth/SignIn')) },
          { path: 'register', lazy: page(() => import('../pages/auth/Register')) },
          { path: 'forgot-password', lazy: page(() => import('../pages/auth/ForgotPassword')) },
          { path: 'resend-verification', lazy: page(() => import('../pages/auth/ResendVerification')) },
        ],
      },
      {
        // Pages reached from mailed links: they work signed in or not.
        element: <PublicLayout />,
        children: [
          { path: 'verify-email', lazy: page(() => import('../pages/auth/VerifyEmail')) },
          { path: 'reset-password', lazy: page(() => import('../pages/auth/ResetPassword')) },
          { path: 'invitations/accept', lazy: page(() => import('../pages/auth/AcceptInvitation')) },
        ],
      },
      {
        element: <AppLayout />,
        children: [
          { index: true, lazy: page(() => import('../pages/student/Dashboard')) },
          { path: 'catalog', lazy: page(() => import('../pages/student/Catalog')) },
          { path: 'courses/:courseId', lazy: page(() => import('../pages/student/CoursePage')) },
          { path: 'courses/:courseId/lessons/:lessonId', lazy: page(() => import('../pages/student/LessonReader')) },
          { path: 'quizzes/:quizId', lazy: page(() => import('../pages/student/QuizPage')) },
          { path: 'labs', lazy: page(() => import('../pages/student/Labs')) },
          { path: 'labs/:sessionId', lazy: page(() => import('../pages/student/LabPage')) },
          { path: 'account', lazy: page(() => import('../pages/auth/Account')) },
          // Staff pages (part 2): each its own chunk, so students and the sign-in route never load them.
          { path: 'teach', lazy: page(() => import('../pages/staff/teach/MyCourses')) },
          { path: 'teach/courses/:courseId', lazy: page(() => import('../pages/staff/teach/CourseEditor')) },
          { path: 'teach/courses/:courseId/generate', lazy: page(() => import('../pages/staff/teach/Generate')) },
          { path: 'teach/courses/:courseId/attempts', lazy: page(() => import('../pages/staff/teach/Attempts')) },
          { path: 'teach/courses/:courseId/analytics', lazy: page(() => import('../pages/staff/teach/Analytics')) },
          { path: 'teach/courses/:courseId/labs', lazy: page(() => import('../pages/staff/teach/CourseLabs')) },
          { path: 'teach/courses/:courseId/exports', lazy: page(() => import('../pages/staff/teach/Exports')) },
          { path: 'teach/quizzes/:quizId', lazy: page(() => import('../pages/staff/teach/QuizEditor')) },
          { path: 'organizations/:slug/members', lazy: page(() => import('../pages/staff/org/Members')) },
          { path: 'organizations/:slug/audit-log', lazy: page(() => import('../pages/staff/org/OrganizationAudit')) },
          { path: 'organizations/:slug/settings', lazy: page(() => import('../pages/staff/org/Settings')) },
          { path: 'organizations/:slug/tracks', lazy: page(() => import('../pages/staff/org/Tracks')) },
          { path: 'organizations/:slug/report', lazy: page(() => import('../pages/staff/org/Report')) },
          { path: 'organizations/:slug/api-clients', lazy: page(() => import('../pages/staff/org/ApiClients')) },
          { path: 'admin/users', lazy: page(() => import('../pages/staff/admin/Users')) },
          { path: 'admin/organizations', lazy: page(() => import('../pages/staff/admin/Organizations')) },
          { path: 'admin/audit-log', lazy: page(() => import('../pages/staff/admin/PlatformAudit')) },
          { path: '*', element: <NotFound /> },
        ],
      },
    ],
  },
];

export const router = createBrowserRouter(routes);

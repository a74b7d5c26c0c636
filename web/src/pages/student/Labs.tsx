import { Link } from 'react-router';
import { useQuery } from 'urql';
import { Empty, ProblemView, Skeleton } from '../../components/ui';
import { graphql } from '../../gql';
import { problemOf } from '../../lib/errors';
import { dateTime } from '../../lib/time';
import { useTitle } from '../../lib/useTitle';
import { LabStatusBadge, useLiveLab } from './lab-live';

const MyLabs = graphql(`
  query MyLabs {
    me {
      id
      labSessions(first: 50) {
        nodes { id status ide createdAt stoppedAt exercise { id title } course { id title } }
      }
    }
  }
`);

type Lab = NonNullable<import('../../gql/graphql').MyLabsQuery['me']>['labSessions']['nodes'][number];

export default function Labs() {
  useTitle('Your labs');
  const [{ data, fetching, error }, refetch] = useQuery({ query: MyLabs });
  if (!data?.me) {
    const problem = problemOf(error);
    if (problem && !fetching) return <ProblemView problem={problem} retry={() => refetch({ requestPolicy: 'network-only' })} />;
    return <Skeleton lines={6} label="Loading your labs" />;
  }
  const labs = data.me.labSessions.nodes;
  return (
    <div className="stack-lg">
      <h1>Your labs</h1>
      {labs.length === 0 ? (
        <Empty title="You have not started a lab yet.">
          <p>Labs start from an exercise on a course page.</p>
        </Empty>
      ) : (
        <ul className="list">
          {labs.map((lab) => (
            <LabItem key={lab.id} lab={lab} />
          ))}
        </ul>
      )}
    </div>
  );
}

function LabItem({ lab }: { lab: Lab }) {
  const live = useLiveLab(lab.id, { status: lab.status });
  return (
    <li className="list__item">
      <Link to={`/labs/${lab.id}`}>{lab.exercise.title}</Link>
      <LabStatusBadge status={live.status} />
      <span className="muted">
        {lab.course.title} · started {dateTime(lab.createdAt)}
      </span>
    </li>
  );
}

"""The service layer: what a user can do, each in one unit of work. The CLI, the web app and the Prefect flows call
these and nothing below them.

One entry point, `Beian` (the application bound to one database), and a room per capability, each reached through it:

- `app.cases` (cases.py): apply, the open tasks, claim and release, complete, drafts, outside messages;
- `app.materials` (materials.py): the application's files against the region's checklist, each upload a version;
- `app.supplements` (supplements.py): what a supplementation asked for, the resubmission with corrected fields and
  files, and what it changed;
- `app.objections` (objections.py): an objection during publicity with its files, registered by the publicity officer;
- `app.processes` (processes.py): deploy a process version, versions, the check, diff, migration of running cases;
- `app.operations` (operations.py): the timer sweep and the retry of a stuck case;
- `app.records` (records.py): a case or filing as people read it, the filings list, documents;
- `app.search` (search.py): cases found by name, credit code, case or filing number, within what the viewer sees;
- `app.calendar` (calendar.py): working-day arithmetic and the official arrangements an administrator loads;
- `app.documents` (documents.py): a correction notice for a served document (which itself never changes);
- `app.issuers` (issuers.py): who issues and signs each authority's documents, their numbers and seal;
- `app.catalogue` (catalogue.py): the national occupation catalogue the pre-check reads;
- `app.public` (public.py): what the public reads without signing in (receipt check, directory, publicity) and its
  objections during publicity, bounded per address and per day;
- `app.portal` (portal.py): what an institution's people see and send in the portal — only their own cases,
  filings and documents (accounts: workflows.institutions).

The steps those capabilities run on a case's workflow (complete a task, receive a message, …) are in commands.py.
Caseworker accounts (workflows.users) and the stuck watch (workflows.stuck) take the application the same way.
"""

from workflows.service.app import Beian

__all__ = ["Beian"]

/* tsr_prerequisites: the days on which seed 002's access prerequisites stop an account being used, as
 * SQL, written once for the two daemons that judge them: accounts (signing in, the account's state
 * shown to system support, and the day it publishes in accounts.worker.changed) and the gateway (each
 * call of a session already open, from the day published). Written twice, they disagreed on a DBS
 * check dated 29 February 2024: the gateway refused from its date plus 3 years (28 February 2027),
 * accounts only once the date was on or before today less 3 years (1 March), so for a day the worker
 * signed in and every call was refused; a risk assessment approved on 30 November the same way.
 *
 * Each day is the first on which the account may not be used; today is office_today(), the office's
 * day (tsr_daemon_use_timezone), in both daemons. */
#ifndef TSR_PREREQUISITES_H
#define TSR_PREREQUISITES_H

/* The day an enhanced DBS check done on checked_on (a date) is due for renewal: it is renewed every
 * 3 years, and no longer counts from that day. A check of 29 February is due on 28 February. */
#define TSR_PREREQ_DBS_DUE_SQL(checked_on) "((" checked_on ") + interval '3 years')::date"
/* The day an HR-approved risk assessment approved on approved_on stops covering a pending DBS check:
 * it covers 3 months from its approval (one of 30 November, up to 27 February). */
#define TSR_PREREQ_RISK_ASSESSMENT_ENDS_SQL(approved_on) "((" approved_on ") + interval '3 months')::date"
/* Whether day, one of the above, has come: true on the day itself. */
#define TSR_PREREQ_HAS_COME_SQL(day) "((" day ") <= office_today())"
/* Whether a third party's contract, which runs up to and including end_date, is over. */
#define TSR_PREREQ_CONTRACT_OVER_SQL(end_date) "((" end_date ") < office_today())"

#endif

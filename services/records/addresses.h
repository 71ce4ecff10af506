/* addresses: where a person lives, stays or wants letters sent, with the history of each (a new main
 * address ends the main address before it, the day before). Every read and write needs full access
 * to the person and is an audited access: an address is among the most sensitive things a record
 * holds (a family fled to a refuge). */
#ifndef RECORDS_ADDRESSES_H
#define RECORDS_ADDRESSES_H

#include "records.pb-c.h"
#include "tsr_daemon.h"

int records_address_add(tsr_call_t *call, tsr_error_t *err);
int records_address_end(tsr_call_t *call, tsr_error_t *err);
int records_address_list(tsr_call_t *call, tsr_error_t *err);

/* What the addresses of a Person or an AddressList point into: freed with records_addresses_release. */
typedef struct {
    PGresult *res;
    Tsr__Records__Address *items;
    Tsr__Records__Address **ptrs;
    char **lines; /* each address's lines, split from the row */
    size_t n;
} records_addresses_t;

/* Fills person->addresses with the current ones (not ended before today). */
int records_addresses_load(tsr_call_t *call, Tsr__Records__Person *person, records_addresses_t *holder,
                           tsr_error_t *err);
void records_addresses_release(records_addresses_t *holder);

#endif

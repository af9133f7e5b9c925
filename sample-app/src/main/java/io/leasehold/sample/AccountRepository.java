package io.leasehold.sample;

import org.springframework.data.repository.CrudRepository;

interface AccountRepository extends CrudRepository<Account, String> {

}

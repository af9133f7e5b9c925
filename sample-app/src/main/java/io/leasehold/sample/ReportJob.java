package io.leasehold.sample;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import io.leasehold.lock.DistributedLock;
import io.leasehold.lock.LockContext;
import io.leasehold.lock.OnNotAcquired;
import io.leasehold.lock.Purpose;

/**
 * A scheduled job every node triggers, which runs on one of them: the others skip it. The lease
 * is held for at least {@code minHoldTime}, so a node whose clock fires a little later does not
 * run the same slot again.
 */
@Component
class ReportJob {

	private static final Logger logger = LoggerFactory.getLogger(ReportJob.class);

	@Scheduled(fixedDelayString = "${sample.report.interval:30s}")
	@DistributedLock(name = "sample-report", minHoldTime = "${sample.report.min-hold:10s}",
			purpose = Purpose.EFFICIENCY, onNotAcquired = OnNotAcquired.SKIP)
	public void buildReport() {
		logger.info("Building the report on this node with fencing token {}", LockContext.fencingToken());
	}

}

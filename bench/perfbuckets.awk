# bench/perfbuckets.awk: the samples of a perf profile sorted into buckets by
# what their call stack went through (the first bucket that matches wins),
# as shares of all the process's samples.
#
#   perf script -i OUT/sb-call.perf.data | awk -f bench/perfbuckets.awk | sort -rn
#
# perf's own reports split a stack's time by function; these buckets answer
# "how much went to the collector, the scheduler, sipgo's parser, the system
# calls" in one table (docs/performance.md, session 12).
BEGIN { RS = "" }
{
	c = "other"
	if ($0 ~ /gcBgMarkWorker|gcDrain|markroot|gcAssist|bgsweep|sweepone|bgscavenge|scavenge/) c = "collector (mark, sweep, scavenge)"
	else if ($0 ~ /exc_page_fault/) c = "page faults"
	else if ($0 ~ /sipgo\/sip\.\(\*Parser\)/) c = "sipgo parser"
	else if ($0 ~ /__sys_sendto/) c = "sendto (with its loopback delivery)"
	else if ($0 ~ /__sys_recvfrom/) c = "recvfrom"
	else if ($0 ~ /runtime\.(schedule|findRunnable|park_m|netpoll|futex|notesleep|stopm|startm|wakep|mPark|usleep|goready|ready|exitsyscall|entersyscall|sysmon|runqgrab|stealWork)|epoll_wait|__schedule|futex/) c = "scheduler and netpoller"
	else if ($0 ~ /mallocgc|newobject|makeslice|growslice|mcache|mcentral|rawstring|slicebytetostring|concatstring/) c = "allocation"
	else if ($0 ~ /switchboard\/internal/) c = "switchboard code"
	n[c]++
	t++
}
END {
	for (k in n)
		printf "%6.1f%%  %s\n", 100 * n[k] / t, k
}

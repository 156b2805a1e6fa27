# shellcheck shell=bash
# lib/stack/processes.sh: finding this stack's processes by their command
# line, starting the ones ./stack supervises, and stopping processes.
# Sourced by ./stack.

# alive PID: the process exists and is no zombie.
alive() {
	local state
	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 1
	[[ $state != Z ]]
}

# children_of PID: the pids of PID's child processes.
children_of() {
	local dir stat ppid
	for dir in /proc/[0-9]*; do
		{ stat=$(<"$dir/stat"); } 2>/dev/null || continue
		read -r _ ppid _ <<<"${stat##*) }"
		[[ $ppid == "$1" ]] && printf '%s\n' "${dir#/proc/}"
	done
	return 0
}

# stack_procs: "PID ROLE" for each process of this stack given "-c" and its
# chat.conf: ROLE is the node id of a push daemon ("-c CONF -i NODE ..."),
# "fastcgi-pool" for chat-fcgi running on its own ("-s SOCKET": the
# supervisor and its workers, behind nginx or Apache), "fastcgi" for those
# lighttpd spawns. Found whatever pid files say, so that FastCGI processes
# a dead lighttpd or supervisor left behind, or a daemon whose pid file is
# gone, are found too.
stack_procs() {
	local dir
	for dir in /proc/[0-9]*; do
		proc_role "${dir#/proc/}" && printf '%s %s\n' "${dir#/proc/}" "$ROLE"
	done
	return 0
}

# proc_role PID: set ROLE as stack_procs names it; fail when PID is no
# running process of this stack (a -n configuration check is none).
proc_role() {
	local i
	local -a args
	ROLE=''
	mapfile -d '' -t args 2>/dev/null <"/proc/$1/cmdline" || return 1
	for ((i = 1; i < ${#args[@]}; i++)); do
		[[ ${args[i]} == "$CHAT_CONF" && ${args[i - 1]} == -c ]] || continue
		((i < 2)) || [[ ${args[i - 2]} != -n ]] || return 1
		alive "$1" || return 1
		if [[ ${args[i + 1]:-} == -i && -n ${args[i + 2]:-} ]]; then
			ROLE=${args[i + 2]}
		elif [[ ${args[i + 1]:-} == -s ]]; then
			ROLE=fastcgi-pool
		else
			ROLE=fastcgi
		fi
		return 0
	done
	return 1
}

# fcgi_pids ROLE: the FastCGI processes of this stack in ROLE (fastcgi or
# fastcgi-pool).
fcgi_pids() { stack_procs | awk -v role="$1" '$2 == role { print $1 }'; }

# wait_gone SECONDS PID...: 0 once none of the processes is left.
wait_gone() {
	local seconds=$1 i pid left
	shift
	for ((i = 0; i < seconds * 10; i++)); do
		left=0
		for pid; do
			alive "$pid" && left=1
		done
		((left)) || return 0
		sleep 0.1
	done
	return 1
}

/// Start, timers and pending work.
extension Replica {
    /// After construction: a replica restored in a view above 0 re-announces its view change (with
    /// its lock) unless it had already prepared in that view (then its view is confirmed and its
    /// next expiry moves on); otherwise it waits for work, with a heartbeat timer.
    mutating func onStart() {
        if view > 0, round.viewConfirmed {
            scheduleViewTimer()
        } else if view > 0, let me = myIndex {
            let vc = makeViewChange()
            _ = round.viewChanges.add(vc, index: me, currentView: view)
            broadcast(.viewChange(vc, lockedBlock: vc.lock == nil ? nil : signing.lock?.block))
            scheduleViewTimer()
        } else if workPending {
            scheduleViewTimer()
        } else {
            scheduleHeartbeat()
        }
        checkProgress()
    }

    mutating func onWorkPending() {
        guard !workPending, round.decided == nil else { return }
        workPending = true
        if !round.viewTimerRunning { scheduleViewTimer() }
        checkProgress()
    }

    /// (Re)starts the view timer: `proposalTimeoutMs * 2^view`, capped. Any earlier timer is stale.
    mutating func scheduleViewTimer() {
        timerSequence += 1
        round.viewTimerRunning = true
        let t = Timeout(kind: .view, height: height, view: view, sequence: timerSequence)
        let ms = view == 0 && probeTurn ? LeaderRotation.probeTimeoutMs(proposalTimeoutMs: config.proposalTimeoutMs)
            : config.viewTimeoutMs(view)
        emit(.scheduleTimeout(t, afterMs: ms))
    }

    mutating func scheduleHeartbeat() {
        timerSequence += 1
        let t = Timeout(kind: .heartbeat, height: height, view: view, sequence: timerSequence)
        emit(.scheduleTimeout(t, afterMs: config.emptyBlockIntervalMs))
    }

    /// A view timer expiry moves the replica to the next view in view 0 or once its view is
    /// confirmed; before that it re-broadcasts its view change and stays (DESIGN.md: without this
    /// rule replicas whose timers started apart livelock in different views).
    mutating func onTimeout(_ t: Timeout) {
        guard t.sequence == timerSequence, t.height == height, round.decided == nil else { return }
        switch t.kind {
        case .heartbeat:
            onWorkPending()
        case .view:
            round.viewTimerRunning = false
            retryCatchUp()
            // A replica outside the set (an observer) follows views by the f+1 rule and NewViews
            // only: on its own timer it would drift out of the validators' vote window.
            guard myIndex != nil else { return scheduleViewTimer() }
            var movesOn = view == 0 || round.viewConfirmed
            #if TOTEM_FAULT_INJECTION
            if bug == .noViewTimerRule { movesOn = true }
            #endif
            if movesOn {
                guard view < ConsensusLimits.viewMax else { return scheduleViewTimer() }
                moveToView(view + 1)
            } else {
                if myIndex != nil {
                    let vc = makeViewChange()
                    broadcast(.viewChange(vc, lockedBlock: vc.lock == nil ? nil : signing.lock?.block))
                }
                scheduleViewTimer()
            }
            checkProgress()
        }
    }
}

//! A task that follows something for as long as the agent runs (the bandwidth
//! timetable, touch-ups): it stops when its handle is dropped with the agent.

use std::future::Future;

pub struct Following(tokio::task::JoinHandle<()>);

impl Following {
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Following {
        Following(tokio::spawn(task))
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.abort();
    }
}

//! Red property (红色物业): each compound's property service, owners' committee, party branch and
//! supervising unit; 三无 compounds tracked until managed; property companies' quarterly evaluation,
//! the red and black list, and fee collection.

pub mod service;

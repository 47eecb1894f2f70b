//! Five-star branches (五星支部创建): the yearly scorecard per community or village — stars,
//! criteria, evidence, self-assessment, the street's review and the district's rating.

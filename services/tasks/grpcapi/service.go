package grpcapi

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchid/latch/pkg/authn"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
	"github.com/latchid/latch/services/tasks/caller"
	"github.com/latchid/latch/services/tasks/task"
)

// service implements TasksService: decode → who the call acts for → the
// domain → encode. No rule lives here.
type service struct {
	tasksv1.UnimplementedTasksServiceServer
	tasks *task.Service
	log   *slog.Logger
}

// actsFor is whom the call acts as and the scope it asks for (see package
// caller).
func actsFor(ctx context.Context, named caller.Named, a caller.Access) (task.Actor, task.Scope, error) {
	p, ok := authn.PrincipalFrom(ctx)
	if !ok || p.UserID == "" {
		panic("TasksService served without authentication") // wiring bug, caught by recoverPanics
	}
	return caller.Resolve(p, named, a)
}

// named is what a call on one task names: user_id and organization_id.
func named(user, org string) caller.Named { return caller.Named{UserID: user, OrganizationID: org} }

// scoped adds a create's or list's scope to what it names.
func scoped(user, org string, scope tasksv1.TaskScope) (caller.Named, error) {
	n := named(user, org)
	switch scope {
	case tasksv1.TaskScope_TASK_SCOPE_UNSPECIFIED, tasksv1.TaskScope_TASK_SCOPE_PERSONAL:
		if scope == tasksv1.TaskScope_TASK_SCOPE_PERSONAL && org != "" {
			return n, badField("scope", "personal scope names no organization")
		}
	case tasksv1.TaskScope_TASK_SCOPE_ORGANIZATION:
		n.Organization = true
	default:
		return n, badField("scope", "must be personal or organization")
	}
	return n, nil
}

func (s *service) CreateTask(ctx context.Context, req *tasksv1.CreateTaskRequest) (*tasksv1.CreateTaskResponse, error) {
	const method = "CreateTask"
	n, err := scoped(req.GetUserId(), req.GetOrganizationId(), req.GetScope())
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	actor, scope, err := actsFor(ctx, n, caller.Write)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	in := task.NewTask{Title: req.GetTitle(), Description: req.Description, Tags: req.GetTags()}
	if in.Priority, err = priorityOf(req.GetPriority()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	if in.DueDate, err = timeOf("due_date", req.GetDueDate()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	t, err := s.tasks.Create(ctx, actor, scope, in)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	return &tasksv1.CreateTaskResponse{Task: render(t)}, nil
}

func (s *service) GetTask(ctx context.Context, req *tasksv1.GetTaskRequest) (*tasksv1.GetTaskResponse, error) {
	const method = "GetTask"
	actor, _, err := actsFor(ctx, named(req.GetUserId(), req.GetOrganizationId()), caller.Read)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	if err := checkID(req.GetId()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	t, err := s.tasks.Get(ctx, actor, req.GetId())
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	return &tasksv1.GetTaskResponse{Task: render(t)}, nil
}

func (s *service) ListTasks(ctx context.Context, req *tasksv1.ListTasksRequest) (*tasksv1.ListTasksResponse, error) {
	const method = "ListTasks"
	n, err := scoped(req.GetUserId(), req.GetOrganizationId(), req.GetScope())
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	actor, scope, err := actsFor(ctx, n, caller.Read)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	q, err := queryOf(req)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	tasks, total, err := s.tasks.List(ctx, actor, scope, q)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	out := &tasksv1.ListTasksResponse{Tasks: make([]*tasksv1.Task, len(tasks)), TotalCount: int64(total)}
	for i, t := range tasks {
		out.Tasks[i] = render(t)
	}
	return out, nil
}

func (s *service) UpdateTask(ctx context.Context, req *tasksv1.UpdateTaskRequest) (*tasksv1.UpdateTaskResponse, error) {
	const method = "UpdateTask"
	actor, _, err := actsFor(ctx, named(req.GetUserId(), req.GetOrganizationId()), caller.Write)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	if err := checkID(req.GetTask().GetId()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	patch, err := patchOf(req)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	t, err := s.tasks.Update(ctx, actor, req.GetTask().GetId(), patch)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	return &tasksv1.UpdateTaskResponse{Task: render(t)}, nil
}

func (s *service) ToggleTask(ctx context.Context, req *tasksv1.ToggleTaskRequest) (*tasksv1.ToggleTaskResponse, error) {
	const method = "ToggleTask"
	actor, _, err := actsFor(ctx, named(req.GetUserId(), req.GetOrganizationId()), caller.Write)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	if err := checkID(req.GetId()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	t, err := s.tasks.Toggle(ctx, actor, req.GetId())
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	return &tasksv1.ToggleTaskResponse{Task: render(t)}, nil
}

func (s *service) DeleteTask(ctx context.Context, req *tasksv1.DeleteTaskRequest) (*tasksv1.DeleteTaskResponse, error) {
	const method = "DeleteTask"
	actor, _, err := actsFor(ctx, named(req.GetUserId(), req.GetOrganizationId()), caller.Write)
	if err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	if err := checkID(req.GetId()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	if err := s.tasks.Delete(ctx, actor, req.GetId()); err != nil {
		return nil, s.toStatus(ctx, method, err)
	}
	return &tasksv1.DeleteTaskResponse{}, nil
}

func checkID(id int64) error {
	if id < 1 {
		return badField("id", "must be a positive integer")
	}
	return nil
}

var priorities = map[tasksv1.Priority]task.Priority{
	tasksv1.Priority_PRIORITY_UNSPECIFIED: "",
	tasksv1.Priority_PRIORITY_LOW:         task.Low,
	tasksv1.Priority_PRIORITY_MEDIUM:      task.Medium,
	tasksv1.Priority_PRIORITY_HIGH:        task.High,
}

func priorityOf(p tasksv1.Priority) (task.Priority, error) {
	v, ok := priorities[p]
	if !ok {
		return "", badField("priority", "must be one of low, medium, high")
	}
	return v, nil
}

func timeOf(field string, ts *timestamppb.Timestamp) (*time.Time, error) {
	if ts == nil {
		return nil, nil
	}
	if err := ts.CheckValid(); err != nil {
		return nil, badField(field, "must be a valid timestamp")
	}
	t := ts.AsTime()
	return &t, nil
}

func queryOf(req *tasksv1.ListTasksRequest) (task.Query, error) {
	q := task.Query{Search: req.GetSearch(), Tag: req.GetTag(), Limit: int(req.GetLimit()), Offset: int(req.GetOffset()), Descending: true}
	var v task.ValidationError
	switch req.GetCompleted() {
	case tasksv1.CompletionFilter_COMPLETION_FILTER_UNSPECIFIED, tasksv1.CompletionFilter_COMPLETION_FILTER_ALL:
		q.Status = task.All
	case tasksv1.CompletionFilter_COMPLETION_FILTER_PENDING:
		q.Status = task.Pending
	case tasksv1.CompletionFilter_COMPLETION_FILTER_COMPLETED:
		q.Status = task.Completed
	default:
		v.Fields = append(v.Fields, task.FieldError{Field: "completed", Message: "must be one of all, pending, completed"})
	}
	var err error
	if q.Priority, err = priorityOf(req.GetPriority()); err != nil {
		v.Fields = append(v.Fields, task.FieldError{Field: "priority", Message: "must be one of low, medium, high"})
	}
	switch req.GetSort() {
	case tasksv1.TaskSort_TASK_SORT_UNSPECIFIED, tasksv1.TaskSort_TASK_SORT_CREATED_AT:
		q.Sort = task.SortCreatedAt
	case tasksv1.TaskSort_TASK_SORT_DUE_DATE:
		q.Sort = task.SortDueDate
	case tasksv1.TaskSort_TASK_SORT_PRIORITY:
		q.Sort = task.SortPriority
	case tasksv1.TaskSort_TASK_SORT_TITLE:
		q.Sort = task.SortTitle
	default:
		v.Fields = append(v.Fields, task.FieldError{Field: "sort", Message: "must be one of created_at, due_date, priority, title"})
	}
	switch req.GetOrder() {
	case tasksv1.SortOrder_SORT_ORDER_UNSPECIFIED, tasksv1.SortOrder_SORT_ORDER_DESC:
	case tasksv1.SortOrder_SORT_ORDER_ASC:
		q.Descending = false
	default:
		v.Fields = append(v.Fields, task.FieldError{Field: "order", Message: "must be asc or desc"})
	}
	if len(v.Fields) > 0 {
		return q, &v
	}
	return q, nil
}

// patchOf reads the fields update_mask names; a named field left empty in
// the task clears it.
func patchOf(req *tasksv1.UpdateTaskRequest) (task.Patch, error) {
	var p task.Patch
	src := req.GetTask()
	paths := req.GetUpdateMask().GetPaths()
	if len(paths) == 0 {
		return p, badField("update_mask", "must name at least one field")
	}
	for _, path := range paths {
		switch path {
		case "title":
			title := src.GetTitle()
			p.Title = &title
		case "description":
			p.Description, p.ClearDescription = src.Description, src.Description == nil
		case "priority":
			pr, err := priorityOf(src.GetPriority())
			if err != nil || pr == "" {
				return p, badField("priority", "must be one of low, medium, high")
			}
			p.Priority = &pr
		case "due_date":
			due, err := timeOf("due_date", src.GetDueDate())
			if err != nil {
				return p, err
			}
			p.DueDate, p.ClearDueDate = due, due == nil
		case "tags":
			tags := append([]string{}, src.GetTags()...)
			p.Tags = &tags
		case "completed":
			done := src.GetCompleted()
			p.Completed = &done
		default:
			return p, badField("update_mask", fmt.Sprintf("unknown field %.64q (title, description, priority, due_date, tags, completed)", path))
		}
	}
	return p, nil
}

func render(t task.Task) *tasksv1.Task {
	out := &tasksv1.Task{
		Id: t.ID, UserId: t.UserID, OrganizationId: t.OrganizationID, Title: t.Title, Description: t.Description, Completed: t.Completed,
		Priority: tasksv1.Priority_PRIORITY_MEDIUM, Tags: t.Tags,
		CreateTime: timestamppb.New(t.CreatedAt), UpdateTime: timestamppb.New(t.UpdatedAt),
	}
	for k, v := range priorities {
		if v == t.Priority && v != "" {
			out.Priority = k
		}
	}
	if t.DueDate != nil {
		out.DueDate = timestamppb.New(*t.DueDate)
	}
	return out
}
